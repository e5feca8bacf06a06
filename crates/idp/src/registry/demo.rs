//! A synthetic civil registry for demos and load tests: Chilean-style names, plausible dates,
//! valid check digits, reproducible from a seed.

use std::io::Write;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::Run;

const FEMALE: &[&str] = &[
    "María",
    "Josefa",
    "Isidora",
    "Florencia",
    "Catalina",
    "Antonia",
    "Fernanda",
    "Javiera",
    "Valentina",
    "Constanza",
    "Camila",
    "Francisca",
    "Daniela",
    "Carolina",
    "Paula",
    "Trinidad",
    "Agustina",
    "Emilia",
    "Rosa",
    "Carmen",
    "Ana",
    "Gabriela",
    "Patricia",
    "Verónica",
    "Macarena",
    "Ignacia",
];
const MALE: &[&str] = &[
    "José",
    "Juan",
    "Luis",
    "Carlos",
    "Jorge",
    "Cristóbal",
    "Matías",
    "Benjamín",
    "Vicente",
    "Tomás",
    "Agustín",
    "Maximiliano",
    "Sebastián",
    "Diego",
    "Felipe",
    "Nicolás",
    "Francisco",
    "Pedro",
    "Manuel",
    "Rodrigo",
    "Héctor",
    "Ricardo",
    "Alejandro",
    "Andrés",
    "Joaquín",
    "Ignacio",
];
const SURNAMES: &[&str] = &[
    "González",
    "Muñoz",
    "Rojas",
    "Díaz",
    "Pérez",
    "Soto",
    "Contreras",
    "Silva",
    "Martínez",
    "Sepúlveda",
    "Morales",
    "Rodríguez",
    "López",
    "Fuentes",
    "Hernández",
    "Torres",
    "Araya",
    "Flores",
    "Espinoza",
    "Valenzuela",
    "Castillo",
    "Tapia",
    "Reyes",
    "Gutiérrez",
    "Castro",
    "Pizarro",
    "Álvarez",
    "Vásquez",
    "Sánchez",
    "Fernández",
    "Ramírez",
    "Carrasco",
    "Gómez",
    "Cortés",
    "Herrera",
    "Núñez",
    "Jara",
    "Vergara",
    "Rivera",
    "Figueroa",
    "Riquelme",
    "García",
    "Miranda",
    "Bravo",
    "Vera",
    "Molina",
    "Vega",
    "Sandoval",
    "Campos",
    "Ortiz",
    "Orellana",
    "Salazar",
    "Zúñiga",
    "Olivares",
    "Romero",
    "Gallardo",
    "Garrido",
    "Alarcón",
    "Guzmán",
    "Henríquez",
    "Saavedra",
    "Navarro",
    "Aguilera",
    "Parra",
    "Romero",
    "Quezada",
    "Cáceres",
    "Aravena",
    "Yáñez",
    "Peña",
    "Mella",
    "Huenchullán",
    "Painemal",
    "Catrileo",
];

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list.get(rng.gen_range(0..list.len()))
        .copied()
        .unwrap_or("María")
}

/// One synthetic person, as a JSON object in the import format.
#[must_use]
pub fn person(rng: &mut ChaCha8Rng, run: Run) -> serde_json::Value {
    let female = rng.gen_bool(0.5);
    let names = if female { FEMALE } else { MALE };
    let first = pick(rng, names);
    let given_names = if rng.gen_bool(0.8) {
        let mut second = pick(rng, names);
        while second == first {
            second = pick(rng, names);
        }
        format!("{first} {second}")
    } else {
        first.to_owned()
    };
    let year = rng.gen_range(1935..=2008);
    let month = rng.gen_range(1..=12);
    let day = rng.gen_range(1..=28);
    let roll = rng.gen_range(0..1000);
    let status = match roll {
        0..=14 => "deceased",
        15..=19 => "blocked",
        _ => "active",
    };
    let letter = if rng.gen_bool(0.5) { 'A' } else { 'B' };
    serde_json::json!({
        "run": run.to_string(),
        "given_names": given_names,
        "paternal_surname": pick(rng, SURNAMES),
        "maternal_surname": pick(rng, SURNAMES),
        "birth_date": format!("{year:04}-{month:02}-{day:02}"),
        "sex": if female { "F" } else { "M" },
        "nationality": if rng.gen_bool(0.93) { "CL" } else { pick(rng, &["PE", "VE", "CO", "AR", "BO", "HT"]) },
        "document_serial": format!("{letter}{:09}", rng.gen_range(0..1_000_000_000u32)),
        "status": status,
        "updated_at": "2026-01-01T00:00:00Z",
    })
}

/// Writes `count` people as JSON Lines (`csv = false`) or CSV, with RUN numbers rising from
/// 5,000,000 in random steps (so they are unique) and every other field drawn from `seed`.
pub fn write(mut out: impl Write, count: u64, seed: u64, csv: bool) -> std::io::Result<()> {
    const FIELDS: [&str; 10] = [
        "run",
        "given_names",
        "paternal_surname",
        "maternal_surname",
        "birth_date",
        "sex",
        "nationality",
        "document_serial",
        "status",
        "updated_at",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut number: u32 = 5_000_000;
    if csv {
        writeln!(out, "{}", FIELDS.join(","))?;
    }
    for _ in 0..count {
        number += rng.gen_range(1..=40);
        let run = Run::from_number(number).map_err(std::io::Error::other)?;
        let person = person(&mut rng, run);
        if csv {
            let row: Vec<&str> = FIELDS
                .iter()
                .map(|f| {
                    person
                        .get(*f)
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("")
                })
                .collect();
            writeln!(out, "{}", row.join(","))?;
        } else {
            writeln!(out, "{person}")?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;
    use crate::registry::record::RawRecord;

    #[test]
    fn demo_records_are_valid_and_reproducible() {
        let mut a = Vec::new();
        write(&mut a, 500, 7, false).unwrap();
        let mut b = Vec::new();
        write(&mut b, 500, 7, false).unwrap();
        assert_eq!(a, b);
        let mut runs = std::collections::HashSet::new();
        for line in std::io::BufRead::lines(BufReader::new(a.as_slice())) {
            let record: RawRecord = serde_json::from_str(&line.unwrap()).unwrap();
            let person = record.into_person().unwrap();
            assert!(runs.insert(person.run));
        }
        assert_eq!(runs.len(), 500);
        let mut csv = Vec::new();
        write(&mut csv, 3, 7, true).unwrap();
        assert!(
            String::from_utf8(csv)
                .unwrap()
                .starts_with("run,given_names,")
        );
    }
}
