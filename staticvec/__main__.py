from staticvec.cli import main

main()
