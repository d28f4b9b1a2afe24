"""Command-line plumbing shared by the runners: parsers, argument groups, exit codes.

Kept free of heavy imports so that ``--help`` answers at once.
"""
