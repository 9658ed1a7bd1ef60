"""ldn-evidence: reproducible evidence synthesis of low-dose naltrexone trials."""

__version__ = "0.1.0"
