"""`python -m costplan`: the same command line as the `costplan` script."""

from costplan.cli import main

if __name__ == "__main__":
    main()
