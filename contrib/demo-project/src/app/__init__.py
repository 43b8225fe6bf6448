"""Demo application bundled with afs to try policies on."""

__version__ = "0.3.1"
