from ordercare.cli import main

main()
