#!/usr/bin/env python
"""Entry point: `python cli.py --help`. The CLI lives in icr_np/cli.py (also installed as `icr-np`)."""
from icr_np.cli import main

if __name__ == "__main__":
    main()
