"""PEPPOL BIS 3 national rules: one module per country, each applying only where its own context holds
(the seller's or buyer's country, as ``PEPPOL-EN16931-UBL.sch`` states it for that country)."""
