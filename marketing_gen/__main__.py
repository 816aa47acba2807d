from marketing_gen.cli import main

main()
