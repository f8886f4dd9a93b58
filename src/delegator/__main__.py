"""`python -m delegator` is the `delegator` command."""

from delegator.cli import main

raise SystemExit(main())
