"""convmed: machine-readable specification and test oracle of the French Convention médicale."""

__version__ = "0.2.0"
