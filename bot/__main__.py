"""Allow ``python -m bot`` as well as the ``claimbot`` console script."""

from bot.cli import main

main()
