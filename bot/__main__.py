"""`python -m bot` is `divbot`."""

from bot.cli import main

raise SystemExit(main())
