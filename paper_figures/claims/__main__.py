"""``python -m paper_figures.claims DOC [--check]``: see :func:`paper_figures.claims.table.main`."""

import sys

from paper_figures.claims.table import main

sys.exit(main())
