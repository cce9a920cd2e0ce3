"""The service layer: every decision a product owner would recognise lives here."""
