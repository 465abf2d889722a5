"""``python -m autograder``: the ``autograder`` command line, for where the script is not on PATH.

The handout notebooks run the public checks this way, with the kernel's own interpreter.
"""

from autograder.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
