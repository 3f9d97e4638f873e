"""convmed: machine-readable specification and test oracle of the French Convention médicale."""

__version__ = "0.1.0"
