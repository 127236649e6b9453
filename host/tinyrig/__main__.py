from tinyrig.cli.main import main

main()
