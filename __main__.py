"""Entry point for `pulumi up` / `pulumi preview`: the program lives in caseshield/program.py."""

from caseshield.program import main

main()
