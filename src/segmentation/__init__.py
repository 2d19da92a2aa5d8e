"""Customer segmentation: the ML package that the dbt Python models call.

Modules:
- demo_data: deterministic generator of the embedded demo data (raw tables of the data contract).
- btyd: BG/NBD and Gamma-Gamma buy-till-you-die models.
- preprocessing, autoencoder, clustering, model: the segmentation estimators.
"""

__version__ = "0.1.0"
