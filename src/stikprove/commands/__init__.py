"""Sub-commands of the ``stikprove`` command line.

Each module here owns the commands of one step of the flow and defines
``register(subparsers)``, which adds its sub-commands; each sub-command sets
``func=handler`` where ``handler(args) -> int`` returns the exit status.
The command line (``stikprove.cli``) discovers the modules, so adding a step
means adding a module here and nothing else.
"""
