"""Developer tools: local stand-ins for providers (an SMTP sink) and the benchmarks that use them. Not imported
by the library."""
