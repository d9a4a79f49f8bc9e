from loginaudit.cli import main

main()
