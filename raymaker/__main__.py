from raymaker.cli.main import main

main()
