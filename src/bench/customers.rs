//! Generated customer masters for the API benchmark: `n` customers of a WaWi (numbers
//! `000000`… as in the invoice export), and a second system holding every third of them
//! under its own numbers with the same VAT IDs (so identity resolution merges them).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

const SURNAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Schulte",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
];
const FIRST: &[&str] = &[
    "Hans", "Peter", "Klaus", "Jürgen", "Anna", "Sabine", "Ursula", "Thomas", "Michael", "Andreas",
    "Stefan", "Monika", "Petra", "Wolfgang", "Jörg", "Birgit", "Frank", "Gabriele", "Uwe", "Karin",
    "Dieter", "Renate", "Bernd", "Helga", "Günter", "Ingrid", "Horst", "Brigitte", "Ralf", "Heike",
    "Martina", "Markus", "Claudia", "Sven", "Tanja", "Björn", "Katrin", "Lars", "Nicole", "Jens",
];
const TRADES: &[&str] = &[
    "Bäckerei",
    "Metzgerei",
    "Elektrotechnik",
    "Maschinenbau",
    "Werkzeugbau",
    "Sanitär",
    "Heizungsbau",
    "Dachdeckerei",
    "Schreinerei",
    "Autohaus",
    "Logistik",
    "Großhandel",
    "Gartenbau",
    "Malerbetrieb",
    "Stahlbau",
    "Druckerei",
    "Optik",
    "Apotheke",
    "Getränkehandel",
    "Baustoffe",
    "Fliesenleger",
    "Zimmerei",
    "Kfz-Werkstatt",
    "Feinmechanik",
    "Bauunternehmen",
];
const FORMS: &[&str] = &[
    "GmbH",
    "GmbH & Co. KG",
    "KG",
    "e.K.",
    "AG",
    "OHG",
    "GbR",
    "UG (haftungsbeschränkt)",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Köln", "50667", "221"),
    ("München", "80331", "89"),
    ("Hamburg", "20457", "40"),
    ("Berlin", "10115", "30"),
    ("Düsseldorf", "40213", "211"),
    ("Stuttgart", "70173", "711"),
    ("Dresden", "01067", "351"),
    ("Nürnberg", "90402", "911"),
    ("Münster", "48143", "251"),
    ("Lüneburg", "21335", "4131"),
];

/// What the generator made of customer `i`: its name, city, phone as written, and VAT ID.
pub struct GeneratedCustomer {
    pub number: String,
    pub name: String,
    pub city: &'static str,
    pub postcode: String,
    pub phone: String,
    pub vat_id: String,
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Customer `i` of the generated WaWi.
pub fn customer(i: u64) -> GeneratedCustomer {
    let h = mix(i + 1);
    let surname = SURNAMES[(h % SURNAMES.len() as u64) as usize];
    let trade = TRADES[((h >> 8) % TRADES.len() as u64) as usize];
    let form = FORMS[((h >> 16) % FORMS.len() as u64) as usize];
    let (city, _, area) = CITIES[((h >> 24) % CITIES.len() as u64) as usize];
    let other = SURNAMES[((h >> 40) % SURNAMES.len() as u64) as usize];
    let first = FIRST[((h >> 56) % FIRST.len() as u64) as usize];
    let name = match (h >> 32) % 4 {
        0 => format!("{trade} {first} {surname} {form}"),
        1 => format!("{surname} {trade} {form}"),
        2 => format!("{surname} & {other} {form}"),
        _ => format!("{trade} {first} {surname}-{other} {form}"),
    };
    // Unique numbers; every third written with the switchboard's `-0`.
    let local = 2_000_000 + i;
    let phone = if i.is_multiple_of(3) {
        format!("0{area}/{local}-0")
    } else {
        format!("0{area} {local}")
    };
    // Five postcodes per city.
    let (_, base, _) = CITIES[((h >> 24) % CITIES.len() as u64) as usize];
    let postcode = format!(
        "{:05}",
        base.parse::<u32>().unwrap_or(10_000) + ((h >> 48) % 5) as u32
    );
    GeneratedCustomer {
        number: format!("{i:06}"),
        name,
        city,
        postcode,
        phone,
        vat_id: format!("DE{:09}", 100_000_000 + i),
    }
}

const HEADER: &str = "Kundennr;Firma;Namenszusatz;Straße;PLZ;Ort;Land;Telefon;Mobil;Fax;E-Mail;USt-IdNr.;GLN;Zahlungsziel (Tage)\r\n";

/// Writes the WaWi customer master (`kunden.csv` format, Windows-1252) of `n` customers.
pub fn write_customer_master(path: &Path, n: u64) -> std::io::Result<()> {
    write_master(path, (0..n).map(|i| (i, customer(i).number)))
}

/// Writes a second system's master: every third customer under the number `K-<i>`.
pub fn write_second_master(path: &Path, n: u64) -> std::io::Result<()> {
    write_master(
        path,
        (0..n).step_by(3).map(|i| (i, format!("K-{}", 500_000 + i))),
    )
}

fn write_master(path: &Path, rows: impl Iterator<Item = (u64, String)>) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    w.write_all(&encoding_rs::WINDOWS_1252.encode(HEADER).0)?;
    let mut line = String::with_capacity(200);
    for (i, number) in rows {
        let c = customer(i);
        let (_, postcode, _) = CITIES
            .iter()
            .find(|x| x.0 == c.city)
            .copied()
            .unwrap_or(CITIES[0]);
        line.clear();
        let _ = write!(
            line,
            "{number};{};;Hauptstraße {};{postcode};{};DE;{};;;kontakt{i}@example.de;{};;30\r\n",
            c.name,
            1 + i % 200,
            c.city,
            c.phone,
            c.vat_id
        );
        w.write_all(&encoding_rs::WINDOWS_1252.encode(&line).0)?;
    }
    w.flush()
}
