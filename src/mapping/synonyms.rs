//! Column names German and English exports use for the canonical fields, and how well a
//! header matches them (`kontor mapping new`).

use crate::model::Entity;

/// Names of `field` of `entity` in exports (compared folded, see [`fold`]).
pub fn synonyms(entity: Entity, field: &str) -> &'static [&'static str] {
    use Entity::*;
    match (entity, field) {
        (Invoice | CreditNote | SupplierInvoice, "number") => &[
            "Belegnr",
            "Beleg-Nr.",
            "Belegnummer",
            "Beleg",
            "Rechnungsnr",
            "Rechnungs-Nr.",
            "Rechnungsnummer",
            "Re-Nr",
            "ReNr",
            "RechNr",
            "Rg-Nr.",
            "RgNr",
            "Gutschriftsnr",
            "Dokumentnr",
            "Invoice No",
            "Invoice Number",
            "Document No",
            "Number",
            "Nummer",
            "Nr",
        ],
        (Order, "number") => &[
            "Auftragsnr",
            "Auftrags-Nr.",
            "Auftragsnummer",
            "Auftrag",
            "AB-Nr.",
            "Belegnr",
            "Order No",
            "Order Number",
            "Order",
            "Number",
            "Nummer",
            "Nr",
        ],
        (Quote, "number") => &[
            "Angebotsnr",
            "Angebots-Nr.",
            "Angebotsnummer",
            "Angebot",
            "AN-Nr.",
            "Belegnr",
            "Quote No",
            "Quotation No",
            "Quote",
            "Number",
            "Nummer",
            "Nr",
        ],
        (Quote, "quote_date") => &["Angebotsdatum", "Belegdatum", "Datum", "Quote Date", "Date"],
        (Quote, "valid_until") => &[
            "Gültig bis",
            "Gueltig bis",
            "Bindefrist",
            "Ablaufdatum",
            "Valid Until",
            "Expiry Date",
        ],
        (Quote, "status") => &["Status", "Angebotsstatus"],
        (Quote, "order_ref") => &["Auftragsnr", "Auftrag", "Order No", "Order"],
        (Quote, "request_ref") => &["Anfragenr", "Anfrage", "Ihre Anfrage", "RFQ", "Request"],
        (Delivery, "number") => &[
            "Lieferscheinnr",
            "Lieferschein-Nr.",
            "Lieferscheinnummer",
            "Lieferschein",
            "LS-Nr.",
            "Delivery No",
            "Number",
            "Nummer",
            "Nr",
        ],
        (ContactPerson, "id") => &["Ansprechpartner-ID", "Kontakt-ID", "Kontaktnr", "ID"],
        (Activity, "id") => &["Kontakt-ID", "Aktivitäts-ID", "Vorgangsnr", "ID", "Nr"],
        (ContactPerson, "name") => &[
            "Name",
            "Ansprechpartner",
            "Kontakt",
            "Kontaktperson",
            "Contact",
        ],
        (ContactPerson | Activity, "team") | (ContactPerson, "department") => {
            &["Abteilung", "Team", "Department", "Bereich"]
        }
        (Activity, "kind") => &["Art", "Kontaktart", "Typ", "Kind", "Type"],
        (Activity, "date")
        | (Order, "order_date")
        | (Delivery, "dispatch_date")
        | (OrderConfirmation, "confirmation_date") => match field {
            "order_date" => &[
                "Auftragsdatum",
                "Bestelldatum",
                "Belegdatum",
                "Datum",
                "Order Date",
                "Date",
            ],
            "dispatch_date" => &[
                "Versanddatum",
                "Lieferdatum",
                "Lieferscheindatum",
                "Datum",
                "Date",
            ],
            "confirmation_date" => &["AB-Datum", "Bestätigungsdatum", "Datum", "Date"],
            _ => &["Datum", "Kontaktdatum", "Date"],
        },
        (Order | OrderLine | OrderConfirmation, "status") => &["Status", "Auftragsstatus"],
        (_, f) => generic(f),
    }
}

fn generic(field: &str) -> &'static [&'static str] {
    match field {
        "customer_no" => &[
            "Kundennr",
            "Kunden-Nr.",
            "Kundennummer",
            "Kd-Nr.",
            "KdNr",
            "Kunde",
            "Kto-Nr.",
            "Kontonr",
            "Kontonummer",
            "Konto",
            "Debitor",
            "Debitorennr",
            "Debitorennummer",
            "Deb-Nr.",
            "Customer No",
            "Customer Number",
            "Customer ID",
            "Customer",
            "Account",
        ],
        "supplier_no" => &[
            "Lieferantennr",
            "Lieferanten-Nr.",
            "Lieferantennummer",
            "Lieferant",
            "Kreditor",
            "Kreditorennr",
            "Kreditorennummer",
            "Supplier No",
            "Supplier",
            "Vendor",
            "Vendor No",
        ],
        "name" => &[
            "Name",
            "Firma",
            "Firmenname",
            "Name 1",
            "Kundenname",
            "Company",
            "Company Name",
        ],
        "name2" => &[
            "Name 2",
            "Namenszusatz",
            "Zusatz",
            "Firma 2",
            "Name Zusatz",
            "Company 2",
        ],
        "vat_id" => &[
            "USt-IdNr.",
            "USt-Id",
            "UStId",
            "USt-ID-Nr.",
            "Umsatzsteuer-ID",
            "Umsatzsteuer-IdNr.",
            "VAT ID",
            "VAT No",
            "VAT Number",
        ],
        "gln" => &["GLN", "ILN", "GLN/ILN"],
        "email" => &[
            "E-Mail",
            "Mail",
            "E-Mail-Adresse",
            "Mailadresse",
            "Email Address",
        ],
        "phones" => &[
            "Telefon",
            "Tel.",
            "Telefonnr",
            "Telefonnummer",
            "Telefon 1",
            "Telefon 2",
            "Tel. 2",
            "Mobil",
            "Mobiltelefon",
            "Mobilnr",
            "Handy",
            "Phone",
            "Mobile",
        ],
        "fax" => &["Fax", "Telefax", "Faxnr", "Faxnummer"],
        "address.street" => &[
            "Straße",
            "Strasse",
            "Str.",
            "Straße/Nr.",
            "Anschrift",
            "Adresse",
            "Street",
            "Address",
        ],
        "address.postcode" => &[
            "PLZ",
            "Postleitzahl",
            "Zip",
            "Zip Code",
            "Postcode",
            "Postal Code",
        ],
        "address.city" => &["Ort", "Stadt", "City", "Wohnort", "Town"],
        "address.country" => &["Land", "Länderkennzeichen", "LKZ", "Staat", "Country"],
        "payment_terms_days" => &[
            "Zahlungsziel",
            "Zahlungsziel (Tage)",
            "Zahlungsziel Tage",
            "Ziel",
            "Payment Terms",
        ],
        "issue_date" => &[
            "Belegdatum",
            "Rechnungsdatum",
            "Re-Datum",
            "Gutschriftsdatum",
            "Datum",
            "Buchungsdatum",
            "Invoice Date",
            "Date",
        ],
        "due_date" => &[
            "Fällig",
            "Fällig am",
            "Fälligkeit",
            "Fälligkeitsdatum",
            "Fälligkeitstermin",
            "Zahlbar bis",
            "Due",
            "Due Date",
        ],
        "net" => &["Netto", "Nettobetrag", "Netto-Betrag", "Net", "Net Amount"],
        "tax" => &[
            "MwSt",
            "MwSt.-Betrag",
            "USt",
            "USt-Betrag",
            "Steuer",
            "Steuerbetrag",
            "Mehrwertsteuer",
            "Umsatzsteuer",
            "Tax",
            "VAT Amount",
        ],
        "gross" => &[
            "Brutto",
            "Bruttobetrag",
            "Betrag",
            "Rechnungsbetrag",
            "Gesamtbetrag",
            "Umsatz",
            "Gross",
            "Amount",
            "Total",
        ],
        "open_amount" | "due_amount" => &[
            "Offen",
            "Offener Betrag",
            "Offener Posten",
            "OP",
            "OP-Betrag",
            "Restbetrag",
            "Rest",
            "Saldo",
            "Open",
            "Open Amount",
            "Outstanding",
            "Balance",
        ],
        "dunning_level" => &[
            "Mahnstufe",
            "Mahnst.",
            "Mahnstufe aktuell",
            "Mahnung",
            "Mahnlevel",
            "Dunning Level",
            "Reminder Level",
        ],
        "currency" => &[
            "Währung",
            "Whg",
            "Whg.",
            "WKZ",
            "Währungskennzeichen",
            "Currency",
            "Cur",
        ],
        "order_ref" => &[
            "Auftragsnr",
            "Auftrags-Nr.",
            "Auftrag",
            "Order Ref",
            "Order No",
        ],
        "invoice_ref" => &[
            "Bezug",
            "Rechnungsbezug",
            "Re-Bezug",
            "Zu Rechnung",
            "Bezugsrechnung",
            "Invoice Ref",
        ],
        "promised_date" => &[
            "Liefertermin",
            "Lieferdatum",
            "Termin",
            "Wunschtermin",
            "Promised Date",
            "Delivery Date",
        ],
        "total" => &[
            "Auftragswert",
            "Gesamtbetrag",
            "Betrag",
            "Summe",
            "Gesamt",
            "Brutto",
            "Total",
            "Amount",
        ],
        "customer_order_ref" => &[
            "Bestellnr. Kunde",
            "Bestellnummer Kunde",
            "Kundenbestellnr",
            "Ihre Bestellung",
            "Bestellnr",
            "Bestellnummer",
            "Bestellung",
            "Customer Order",
            "PO",
            "PO Number",
        ],
        "order_number" => &[
            "Auftragsnr",
            "Auftrags-Nr.",
            "Auftragsnummer",
            "Auftrag",
            "Order No",
            "Order Number",
        ],
        "supplier_order_number" => &[
            "AB-Nr.",
            "AB-Nummer",
            "Auftragsbestätigung",
            "Unsere Auftragsnr",
        ],
        "line_no" => &[
            "Pos",
            "Pos.",
            "Position",
            "Positionsnr",
            "Zeile",
            "Line",
            "Line No",
        ],
        "sku" => &[
            "Artikelnr",
            "Artikel-Nr.",
            "Artikelnummer",
            "Artikel",
            "ArtNr",
            "Art.-Nr.",
            "Materialnr",
            "Material",
            "SKU",
            "Item No",
            "Item",
            "Product No",
        ],
        "description" => &[
            "Bezeichnung",
            "Artikelbezeichnung",
            "Beschreibung",
            "Artikeltext",
            "Text",
            "Description",
        ],
        "quantity" => &[
            "Menge",
            "Anzahl",
            "Stück",
            "Bestellmenge",
            "Qty",
            "Quantity",
        ],
        "delivered_quantity" => &["Geliefert", "Liefermenge", "Gelieferte Menge", "Delivered"],
        "unit" => &["Einheit", "ME", "Mengeneinheit", "Unit", "UoM"],
        "warehouse" => &[
            "Lager",
            "Lagerort",
            "Lagernr",
            "Lager-Nr.",
            "Warehouse",
            "Location",
        ],
        "on_hand" => &[
            "Bestand",
            "Lagerbestand",
            "Ist-Bestand",
            "Istbestand",
            "Menge",
            "On Hand",
            "Stock",
        ],
        "available" => &[
            "Verfügbar",
            "Verfügbarer Bestand",
            "Verfügbare Menge",
            "Frei",
            "Available",
        ],
        "next_receipt_date" => &[
            "Nächster Zugang",
            "Zugang",
            "Zugangsdatum",
            "Wareneingang",
            "Erwarteter Zugang",
            "Next Receipt",
        ],
        "first_name" => &["Vorname", "First Name", "Given Name"],
        "last_name" => &["Nachname", "Familienname", "Last Name", "Surname"],
        "function" => &["Funktion", "Position", "Stellung", "Job Title", "Role"],
        "direction" => &["Richtung", "Direction", "Ein/Aus"],
        "time" => &["Uhrzeit", "Zeit", "Time"],
        "subject" => &["Betreff", "Thema", "Subject"],
        "text" => &["Notiz", "Text", "Inhalt", "Bemerkung", "Note", "Notes"],
        "kind" => &["Belegart", "Art", "Kind"],
        "status" => &["Status"],
        _ => &[],
    }
}

/// Column names of the debit/credit sign (`S`/`H`) of an amount.
pub const SIGN_COLUMNS: &[&str] = &[
    "S/H",
    "Soll/Haben",
    "Soll-Haben",
    "Soll/Haben-Kennzeichen",
    "SH-Kennzeichen",
    "Vorzeichen",
];

/// Column names of a document kind (`RE`/`GU`), for a `when` hint.
pub const KIND_COLUMNS: &[&str] = &[
    "Belegart",
    "Art",
    "Belegtyp",
    "Dokumentart",
    "Typ",
    "Document Type",
];

/// Values of enumerated fields as exports write them → the canonical value.
pub const ENUM_WORDS: &[(&str, &str)] = &[
    ("Anruf", "call"),
    ("Telefonat", "call"),
    ("Telefon", "call"),
    ("Call", "call"),
    ("E-Mail", "email"),
    ("Mail", "email"),
    ("Besuch", "visit"),
    ("Termin", "visit"),
    ("Visit", "visit"),
    ("Notiz", "note"),
    ("Note", "note"),
    ("eingehend", "in"),
    ("ein", "in"),
    ("ausgehend", "out"),
    ("aus", "out"),
    ("offen", "open"),
    ("bestätigt", "confirmed"),
    ("teilgeliefert", "partially_delivered"),
    ("teilweise geliefert", "partially_delivered"),
    ("geliefert", "delivered"),
    ("erledigt", "closed"),
    ("abgeschlossen", "closed"),
    ("storniert", "cancelled"),
    ("bezahlt", "paid"),
    ("teilbezahlt", "partially_paid"),
];

/// A name compared loosely: [`super::fold_name`] without any other punctuation.
pub fn fold(s: &str) -> String {
    super::fold_name(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// How well the header `h` (folded) matches one of `names`: 100 the same name, 85 one letter
/// off, 80 a name followed by more (`Fällig am`), 60 a longer name containing it; 0 none.
pub fn score(h: &str, names: &[&str]) -> u32 {
    if h.is_empty() {
        return 0;
    }
    names
        .iter()
        .map(|n| {
            let n = fold(n);
            if n.is_empty() {
                0
            } else if *h == n {
                100
            } else if n.chars().count() >= 5 && super::columns::distance(h, &n) <= 1 {
                85
            } else if n.chars().count() >= 3 && h.starts_with(&n) {
                80
            } else if n.chars().count() >= 4 && h.contains(&n) {
                60
            } else {
                0
            }
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(entity: Entity, header: &str) -> u32 {
        score(&fold(header), synonyms(entity, "customer_no"))
    }

    #[test]
    fn names_fold_case_umlauts_punctuation_and_spaces() {
        assert_eq!(fold("Kto-Nr."), "ktonr");
        assert_eq!(fold("Fällig am"), "faelligam");
        assert_eq!(fold("Zahlungsziel (Tage)"), "zahlungszieltage");
        assert_eq!(fold(" USt-IdNr. "), "ustidnr");
    }

    #[test]
    fn customer_number_synonyms_match_german_and_english_spellings() {
        for h in [
            "Kundennr",
            "Kunden-Nr.",
            "KUNDENNR",
            "Kto-Nr.",
            "Kto Nr",
            "Debitor",
            "Konto",
            "Customer No",
        ] {
            assert_eq!(best(Entity::Invoice, h), 100, "{h}");
        }
        assert_eq!(best(Entity::Invoice, "Debitorennummer"), 100);
        assert_eq!(best(Entity::Invoice, "Kundenr"), 85, "one letter off");
        assert_eq!(best(Entity::Invoice, "Belegdatum"), 0);
        let due = synonyms(Entity::Invoice, "due_date");
        assert_eq!(score(&fold("Fälligkeit"), due), 100);
        assert_eq!(score(&fold("Faellig am"), due), 100);
        assert_eq!(score(&fold("Fällig zum"), due), 80);
        let open = synonyms(Entity::Invoice, "open_amount");
        assert_eq!(score(&fold("Offener Betrag"), open), 100);
        assert_eq!(score(&fold("Restbetrag"), open), 100);
        assert_eq!(
            score(&fold("Re-Nr"), synonyms(Entity::Invoice, "number")),
            100
        );
        assert_eq!(
            score(&fold("Auftragsnr"), synonyms(Entity::Order, "number")),
            100
        );
    }
}
