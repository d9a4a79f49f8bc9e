"""One module per vendor: validated request → store query → the vendor's envelope and errors."""
