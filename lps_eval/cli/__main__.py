"""``python -m lps_eval.cli``: the same as the ``lps-eval`` console script."""

from lps_eval.cli import main

if __name__ == "__main__":
    main()
