"""costplan: FOIA section 12 cost-limit estimates and search plans over police CAD archives."""

__version__ = "0.1.0"
