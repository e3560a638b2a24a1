"""The core shared by the hotline's packages: configuration, database access, clock,
the appeal lifecycle and its audit trail, personal-data masking, and the AMI client."""

__version__ = "0.1.0"
