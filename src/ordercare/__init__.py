"""ordercare: every order watched against its promise; problems fixed before the customer asks."""

__version__ = "0.1.0"
