"""What this version of the hub can do, in one place (and importable from anywhere: it imports nothing).

The integration file format names more than a version may implement; ``check-config`` reports any
other value as "not available in this version" instead of letting it fail at run time.
"""

TRANSPORTS = frozenset({"local", "sftp", "ftp", "ftps", "pop3", "imap", "email", "http"})
#: Accounting systems an export reads its invoices from (``source.type`` of ``kind: export``).
ACCOUNTING_SOURCES = frozenset({"billy"})
OUTPUTS = frozenset({"passthrough", "ubl", "peppol_bis3", "ap_agility", "open_ar_csv", "pdf"})
VALIDATIONS = frozenset({"none", "structure", "en16931", "peppol"})
