# Declarations for the compiled copy of ubl_writer.py (invoice_hub.compiled), never logic: _Writer
# becomes an extension type whose attributes are C fields and whose methods, like the functions
# writing each aggregate, are called directly rather than looked up by name at every element (a
# quarter less writing). The interpreted module ignores this file; a change to it makes the compiled
# copy stale. Types are given only where every caller passes that type (tags are literals).

cdef class _Writer:
    cdef public object sink
    cdef public bint empty_elements
    cdef public object currency
    cdef public object where
    cdef public list parts
    cdef public list stack
    cdef public str indent
    cdef public str currency_attribute
    cpdef str _special(self, str text, str tag, bint attribute=*)
    cpdef begin(self, str tag, object start)
    cpdef open(self, str tag)
    cpdef close(self)
    cpdef str _attributes(self, dict attributes, str tag)
    cpdef leaf(self, str tag, object value, dict attributes=*)
    cpdef wrapped(self, str wrapper, str tag, object value)
    cpdef amount(self, str tag, object value, object currency=*)
    cpdef identifier(self, str tag, object value)
    cpdef flush(self)

cpdef _document(_Writer b, object invoice, bint credit)
cpdef _additional_documents(_Writer b, object invoice)
cpdef _attachment(_Writer b, object attachment)
cpdef _address(_Writer b, str tag, object address)
cpdef _party(_Writer b, str tag, object party)
cpdef _payment_means(_Writer b, object means, object credit_note)
cpdef _tax_category(_Writer b, str tag, object category)
cpdef _allowance_charge(_Writer b, object allowance)
cpdef _line(_Writer b, object line, bint credit)
