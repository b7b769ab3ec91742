# Declarations for the compiled copy of ubl.py (invoice_hub.compiled), never logic: with the walk's
# dicts typed, its lookups and stores are direct C calls, and its recursion a C call (a tenth less
# reading). The interpreted module ignores this file; a change to it makes the compiled copy stale.
import cython

@cython.locals(table=dict, read=dict)
cpdef dict _read(object element, object shape, object source, dict values=*)
