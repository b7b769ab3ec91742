"""The UBL 2.1 schema's child sequences for the aggregates the hub writes (from UBL 2.1's
``UBL-Invoice-2.1.xsd``, ``UBL-CreditNote-2.1.xsd`` and ``UBL-CommonAggregateComponents-2.1.xsd``).

Only the order matters here: each list is the type's ``xsd:sequence`` (every child it may have, the
ones the hub never writes included, so that an element written in the wrong place is caught). The
tests check the writer's output against them and insert mutations of the official examples where
the schema puts them.
"""

from __future__ import annotations

from lxml import etree

_INVOICE_HEAD = [
    "UBLExtensions", "UBLVersionID", "CustomizationID", "ProfileID", "ProfileExecutionID", "ID",
    "CopyIndicator", "UUID", "IssueDate", "IssueTime",
]  # fmt: skip
_PARTIES = [
    "Signature", "AccountingSupplierParty", "AccountingCustomerParty", "PayeeParty",
    "BuyerCustomerParty", "SellerSupplierParty", "TaxRepresentativeParty", "Delivery", "DeliveryTerms",
    "PaymentMeans", "PaymentTerms",
]  # fmt: skip
_CURRENCIES = [
    "DocumentCurrencyCode", "TaxCurrencyCode", "PricingCurrencyCode", "PaymentCurrencyCode",
    "PaymentAlternativeCurrencyCode", "AccountingCostCode", "AccountingCost", "LineCountNumeric",
    "BuyerReference", "InvoicePeriod",
]  # fmt: skip
_RATES = ["TaxExchangeRate", "PricingExchangeRate", "PaymentExchangeRate", "PaymentAlternativeExchangeRate"]
INVOICE = [
    *_INVOICE_HEAD, "DueDate", "InvoiceTypeCode", "Note", "TaxPointDate", *_CURRENCIES, "OrderReference",
    "BillingReference", "DespatchDocumentReference", "ReceiptDocumentReference",
    "StatementDocumentReference", "OriginatorDocumentReference", "ContractDocumentReference",
    "AdditionalDocumentReference", "ProjectReference", *_PARTIES, "PrepaidPayment", "AllowanceCharge",
    *_RATES, "TaxTotal", "WithholdingTaxTotal", "LegalMonetaryTotal", "InvoiceLine",
]  # fmt: skip
CREDIT_NOTE = [
    *_INVOICE_HEAD, "TaxPointDate", "CreditNoteTypeCode", "Note", *_CURRENCIES, "DiscrepancyResponse",
    "OrderReference", "BillingReference", "DespatchDocumentReference", "ReceiptDocumentReference",
    "ContractDocumentReference", "AdditionalDocumentReference", "StatementDocumentReference",
    "OriginatorDocumentReference", *_PARTIES, *_RATES, "AllowanceCharge", "TaxTotal",
    "LegalMonetaryTotal", "CreditNoteLine",
]  # fmt: skip
_LINE_HEAD = ["UBLExtensions", "ID", "UUID", "Note"]
_LINE_MIDDLE = [
    "LineExtensionAmount", "TaxPointDate", "AccountingCostCode", "AccountingCost", "PaymentPurposeCode",
    "FreeOfChargeIndicator", "InvoicePeriod", "OrderLineReference",
]  # fmt: skip
_LINE_REFERENCES = [
    "DespatchLineReference", "ReceiptLineReference", "BillingReference", "DocumentReference",
    "PricingReference", "OriginatorParty", "Delivery",
]  # fmt: skip
INVOICE_LINE = [
    *_LINE_HEAD, "InvoicedQuantity", *_LINE_MIDDLE, *_LINE_REFERENCES, "PaymentTerms", "AllowanceCharge",
    "TaxTotal", "WithholdingTaxTotal", "Item", "Price", "DeliveryTerms", "SubInvoiceLine",
    "ItemPriceExtension",
]  # fmt: skip
CREDIT_NOTE_LINE = [
    *_LINE_HEAD, "CreditedQuantity", *_LINE_MIDDLE, "DiscrepancyResponse", *_LINE_REFERENCES,
    "TaxTotal", "AllowanceCharge", "Item", "Price", "DeliveryTerms", "SubCreditNoteLine",
    "ItemPriceExtension",
]  # fmt: skip
PARTY = [
    "MarkCareIndicator", "MarkAttentionIndicator", "WebsiteURI", "LogoReferenceID", "EndpointID",
    "IndustryClassificationCode", "PartyIdentification", "PartyName", "Language", "PostalAddress",
    "PhysicalLocation", "PartyTaxScheme", "PartyLegalEntity", "Contact", "Person", "AgentParty",
    "ServiceProviderParty", "PowerOfAttorney", "FinancialAccount",
]  # fmt: skip
ADDRESS = [
    "ID", "AddressTypeCode", "AddressFormatCode", "Postbox", "Floor", "Room", "StreetName",
    "AdditionalStreetName", "BlockName", "BuildingName", "BuildingNumber", "InhouseMail", "Department",
    "MarkAttention", "MarkCare", "PlotIdentification", "CitySubdivisionName", "CityName", "PostalZone",
    "CountrySubentity", "CountrySubentityCode", "Region", "District", "TimezoneOffset", "AddressLine",
    "Country", "LocationCoordinate",
]  # fmt: skip
DOCUMENT_REFERENCE = [
    "ID", "CopyIndicator", "UUID", "IssueDate", "IssueTime", "DocumentTypeCode", "DocumentType", "XPath",
    "LanguageID", "LocaleCode", "VersionID", "DocumentStatusCode", "DocumentDescription", "Attachment",
    "ValidityPeriod", "IssuerParty", "ResultOfVerification",
]  # fmt: skip
ALLOWANCE_CHARGE = [
    "ID", "ChargeIndicator", "AllowanceChargeReasonCode", "AllowanceChargeReason", "MultiplierFactorNumeric",
    "PrepaidIndicator", "SequenceNumeric", "Amount", "BaseAmount", "AccountingCostCode", "AccountingCost",
    "PerUnitAmount", "TaxCategory", "TaxTotal", "PaymentMeans",
]  # fmt: skip
TAX_CATEGORY = [
    "ID", "Name", "Percent", "BaseUnitMeasure", "PerUnitAmount", "TaxExemptionReasonCode",
    "TaxExemptionReason", "TierRange", "TierRatePercent", "TaxScheme",
]  # fmt: skip
PERIOD = ["StartDate", "StartTime", "EndDate", "EndTime", "DurationMeasure", "DescriptionCode", "Description"]
FINANCIAL_ACCOUNT = [
    "ID", "Name", "AliasName", "AccountTypeCode", "AccountFormatCode", "CurrencyCode", "PaymentNote",
    "FinancialInstitutionBranch", "Country",
]  # fmt: skip
COUNTRY = ["IdentificationCode", "Name"]
ITEM_IDENTIFICATION = [
    "ID", "ExtendedID", "BarcodeSymbologyID", "PhysicalAttribute", "MeasurementDimension", "IssuerParty"
]  # fmt: skip

#: By element name: the sequence of the element's type.
SEQUENCES: dict[str, list[str]] = {
    "Invoice": INVOICE,
    "CreditNote": CREDIT_NOTE,
    "InvoiceLine": INVOICE_LINE,
    "CreditNoteLine": CREDIT_NOTE_LINE,
    "AccountingSupplierParty": [
        "CustomerAssignedAccountID",
        "AdditionalAccountID",
        "DataSendingCapability",
        "Party",
        "DespatchContact",
        "AccountingContact",
        "SellerContact",
    ],
    "AccountingCustomerParty": [
        "CustomerAssignedAccountID",
        "SupplierAssignedAccountID",
        "AdditionalAccountID",
        "Party",
        "DeliveryContact",
        "AccountingContact",
        "BuyerContact",
    ],
    "Party": PARTY,
    "PayeeParty": PARTY,
    "TaxRepresentativeParty": PARTY,
    "DeliveryParty": PARTY,
    "PartyIdentification": ["ID"],
    "PartyName": ["Name"],
    "PostalAddress": ADDRESS,
    "Address": ADDRESS,
    "AddressLine": ["Line"],
    "Country": COUNTRY,
    "OriginCountry": COUNTRY,
    "PartyTaxScheme": [
        "RegistrationName",
        "CompanyID",
        "TaxLevelCode",
        "ExemptionReasonCode",
        "ExemptionReason",
        "RegistrationAddress",
        "TaxScheme",
    ],
    "TaxScheme": ["ID", "Name", "TaxTypeCode", "CurrencyCode", "JurisdictionRegionAddress"],
    "PartyLegalEntity": [
        "RegistrationName",
        "CompanyID",
        "RegistrationDate",
        "RegistrationExpirationDate",
        "CompanyLegalFormCode",
        "CompanyLegalForm",
        "SoleProprietorshipIndicator",
        "CompanyLiquidationStatusCode",
        "CorporateStockAmount",
        "FullyPaidSharesIndicator",
        "RegistrationAddress",
        "CorporateRegistrationScheme",
        "HeadOfficeParty",
        "ShareholderParty",
    ],
    "Contact": ["ID", "Name", "Telephone", "Telefax", "ElectronicMail", "Note", "OtherCommunication"],
    "InvoicePeriod": PERIOD,
    "OrderReference": [
        "ID",
        "SalesOrderID",
        "CopyIndicator",
        "UUID",
        "IssueDate",
        "IssueTime",
        "CustomerReference",
        "OrderTypeCode",
        "DocumentReference",
    ],
    "BillingReference": [
        "InvoiceDocumentReference",
        "SelfBilledInvoiceDocumentReference",
        "CreditNoteDocumentReference",
        "SelfBilledCreditNoteDocumentReference",
        "DebitNoteDocumentReference",
        "ReminderDocumentReference",
        "AdditionalDocumentReference",
        "BillingReferenceLine",
    ],
    "InvoiceDocumentReference": DOCUMENT_REFERENCE,
    "DespatchDocumentReference": DOCUMENT_REFERENCE,
    "ReceiptDocumentReference": DOCUMENT_REFERENCE,
    "OriginatorDocumentReference": DOCUMENT_REFERENCE,
    "ContractDocumentReference": DOCUMENT_REFERENCE,
    "AdditionalDocumentReference": DOCUMENT_REFERENCE,
    "DocumentReference": DOCUMENT_REFERENCE,
    "ProjectReference": ["ID", "UUID", "IssueDate", "WorkPhaseReference"],
    "Attachment": ["EmbeddedDocumentBinaryObject", "ExternalReference"],
    "ExternalReference": [
        "URI",
        "DocumentHash",
        "HashAlgorithmMethod",
        "ExpiryDate",
        "ExpiryTime",
        "MimeCode",
        "FormatCode",
        "EncodingCode",
        "CharacterSetCode",
        "FileName",
        "Description",
    ],
    "Delivery": [
        "ID",
        "Quantity",
        "MinimumQuantity",
        "MaximumQuantity",
        "ActualDeliveryDate",
        "ActualDeliveryTime",
        "LatestDeliveryDate",
        "LatestDeliveryTime",
        "ReleaseID",
        "TrackingID",
        "DeliveryAddress",
        "DeliveryLocation",
        "AlternativeDeliveryLocation",
        "RequestedDeliveryPeriod",
        "PromisedDeliveryPeriod",
        "EstimatedDeliveryPeriod",
        "CarrierParty",
        "DeliveryParty",
        "NotifyParty",
        "Despatch",
        "DeliveryTerms",
        "MinimumDeliveryUnit",
        "MaximumDeliveryUnit",
        "Shipment",
    ],
    "DeliveryLocation": [
        "ID",
        "Description",
        "Conditions",
        "CountrySubentity",
        "CountrySubentityCode",
        "LocationTypeCode",
        "InformationURI",
        "Name",
        "ValidityPeriod",
        "Address",
        "SubsidiaryLocation",
        "LocationCoordinate",
    ],
    "PaymentMeans": [
        "ID",
        "PaymentMeansCode",
        "PaymentDueDate",
        "PaymentChannelCode",
        "InstructionID",
        "InstructionNote",
        "PaymentID",
        "CardAccount",
        "PayerFinancialAccount",
        "PayeeFinancialAccount",
        "CreditAccount",
        "PaymentMandate",
        "TradeFinancing",
    ],
    "CardAccount": [
        "PrimaryAccountNumberID",
        "NetworkID",
        "CardTypeCode",
        "ValidityStartDate",
        "ExpiryDate",
        "IssuerID",
        "IssueNumberID",
        "CV2ID",
        "CardChipCode",
        "ChipApplicationID",
        "HolderName",
    ],
    "PayeeFinancialAccount": FINANCIAL_ACCOUNT,
    "PayerFinancialAccount": FINANCIAL_ACCOUNT,
    "FinancialInstitutionBranch": ["ID", "Name", "FinancialInstitution", "Address"],
    "PaymentMandate": [
        "ID",
        "MandateTypeCode",
        "MaximumPaymentInstructionsNumeric",
        "MaximumPaidAmount",
        "SignatureID",
        "PayerParty",
        "PayerFinancialAccount",
        "ValidityPeriod",
        "PaymentReversalPeriod",
        "Clause",
    ],
    "PaymentTerms": [
        "ID",
        "PaymentMeansID",
        "PrepaidPaymentReferenceID",
        "Note",
        "ReferenceEventCode",
        "SettlementDiscountPercent",
        "PenaltySurchargePercent",
        "PaymentPercent",
        "Amount",
        "SettlementDiscountAmount",
        "PenaltyAmount",
        "PaymentTermsDetailsURI",
        "PaymentDueDate",
        "InstallmentDueDate",
        "InvoicingPartyReference",
        "SettlementPeriod",
        "PenaltyPeriod",
        "ExchangeRate",
        "ValidityPeriod",
    ],
    "AllowanceCharge": ALLOWANCE_CHARGE,
    "TaxCategory": TAX_CATEGORY,
    "ClassifiedTaxCategory": TAX_CATEGORY,
    "TaxTotal": [
        "TaxAmount",
        "RoundingAmount",
        "TaxEvidenceIndicator",
        "TaxIncludedIndicator",
        "TaxSubtotal",
    ],
    "TaxSubtotal": [
        "TaxableAmount",
        "TaxAmount",
        "CalculationSequenceNumeric",
        "TransactionCurrencyTaxAmount",
        "Percent",
        "BaseUnitMeasure",
        "PerUnitAmount",
        "TierRange",
        "TierRatePercent",
        "TaxCategory",
    ],
    "LegalMonetaryTotal": [
        "LineExtensionAmount",
        "TaxExclusiveAmount",
        "TaxInclusiveAmount",
        "AllowanceTotalAmount",
        "ChargeTotalAmount",
        "PrepaidAmount",
        "PayableRoundingAmount",
        "PayableAmount",
        "PayableAlternativeAmount",
    ],
    "OrderLineReference": ["LineID", "SalesOrderLineID", "UUID", "LineStatusCode", "OrderReference"],
    "Item": [
        "Description",
        "PackQuantity",
        "PackSizeNumeric",
        "CatalogueIndicator",
        "Name",
        "HazardousRiskIndicator",
        "AdditionalInformation",
        "Keyword",
        "BrandName",
        "ModelName",
        "BuyersItemIdentification",
        "SellersItemIdentification",
        "ManufacturersItemIdentification",
        "StandardItemIdentification",
        "CatalogueItemIdentification",
        "AdditionalItemIdentification",
        "CatalogueDocumentReference",
        "ItemSpecificationDocumentReference",
        "OriginCountry",
        "CommodityClassification",
        "TransactionConditions",
        "HazardousItem",
        "ClassifiedTaxCategory",
        "AdditionalItemProperty",
        "ManufacturerParty",
        "InformationContentProviderParty",
        "OriginAddress",
        "ItemInstance",
        "Certificate",
        "Dimension",
    ],
    "BuyersItemIdentification": ITEM_IDENTIFICATION,
    "SellersItemIdentification": ITEM_IDENTIFICATION,
    "StandardItemIdentification": ITEM_IDENTIFICATION,
    "CommodityClassification": ["NatureCode", "CargoTypeCode", "CommodityCode", "ItemClassificationCode"],
    "AdditionalItemProperty": [
        "ID",
        "Name",
        "NameCode",
        "TestMethod",
        "Value",
        "ValueQuantity",
        "ValueQualifier",
        "ImportanceCode",
        "ListValue",
        "UsabilityPeriod",
        "ItemPropertyGroup",
        "RangeDimension",
        "ItemPropertyRange",
    ],
    "Price": [
        "PriceAmount",
        "BaseQuantity",
        "PriceChangeReason",
        "PriceTypeCode",
        "PriceType",
        "OrderableUnitFactorRate",
        "ValidityPeriod",
        "PriceList",
        "AllowanceCharge",
        "PricingExchangeRate",
    ],
}


def out_of_order(root: etree._Element) -> list[str]:
    """Every element whose children are not in its type's schema sequence (or unknown to it)."""
    problems = []
    for element in root.iter():
        if not isinstance(element.tag, str) or len(element) == 0:
            continue
        name = etree.QName(element).localname
        sequence = SEQUENCES.get(name)
        if sequence is None:
            problems.append(f"{root.getroottree().getpath(element)}: no schema sequence known for {name}")
            continue
        positions = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            child_name = etree.QName(child).localname
            if child_name not in sequence:
                problems.append(f"{root.getroottree().getpath(child)}: {child_name} is not a child of {name}")
            else:
                positions.append(sequence.index(child_name))
        if positions != sorted(positions):
            children = [etree.QName(child).localname for child in element if isinstance(child.tag, str)]
            problems.append(f"{root.getroottree().getpath(element)}: children out of order: {children}")
    return problems


def insert_child(parent: etree._Element, child: etree._Element) -> etree._Element:
    """Insert ``child`` where the schema puts it among ``parent``'s children (after its own kind)."""
    sequence = SEQUENCES[etree.QName(parent).localname]
    position = sequence.index(etree.QName(child).localname)
    index = 0
    for index_, existing in enumerate(parent):
        if isinstance(existing.tag, str) and sequence.index(etree.QName(existing).localname) <= position:
            index = index_ + 1
    parent.insert(index, child)
    return child
