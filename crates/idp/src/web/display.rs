//! How the account page shows what the store keeps in machine form: instants as local time in
//! a configured, named zone (the store keeps Unix seconds, UTC), and a browser's user-agent
//! string as the citizen would name the device ("Chrome en Linux", "Safari on iPhone").

use super::pages::Locale;

pub use crate::local_time::{DEFAULT_TIME_ZONE, LocalZone, UnknownZone};

/// A browser family, as people call it.
fn browser(agent: &str) -> Option<&'static str> {
    // Order matters: Edge, Opera and Samsung Internet also say "Chrome"; Chrome also says
    // "Safari"; every iOS browser says "Safari" but names itself first (CriOS, FxiOS, EdgiOS).
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg", "Edge"),
        ("OPR/", "Opera"),
        ("Opera", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    BROWSERS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, name)| *name)
}

/// An operating system or device, as people call it.
fn system(agent: &str) -> Option<&'static str> {
    // iPhone and iPad agents say "like Mac OS X", Android ones say "Linux": test them first.
    const SYSTEMS: &[(&str, &str)] = &[
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    SYSTEMS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, name)| *name)
}

/// "Chrome en Linux" / "Chrome on Linux" from a user-agent string; "Firefox", "Android" when
/// only one is known; the catalogue's `device_unknown` when neither is.
#[must_use]
pub fn device(pages: &super::pages::Pages, locale: Locale, agent: Option<&str>) -> String {
    let agent = agent.unwrap_or("");
    match (browser(agent), system(agent)) {
        (Some(browser), Some(system)) => pages
            .message(locale, "device_on")
            .replacen("{browser}", browser, 1)
            .replacen("{system}", system, 1),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => pages.message(locale, "device_unknown"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::web::pages::Pages;

    const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const HEADLESS: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    const CHROME_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1";
    const FIREFOX_WINDOWS: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const EDGE_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70";
    const SAMSUNG: &str = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36";
    const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";

    #[test]
    fn devices_are_named_as_people_name_them() {
        let pages = Pages::new().unwrap();
        let es = |agent: &str| device(&pages, Locale::Es, Some(agent));
        assert_eq!(es(CHROME_LINUX), "Chrome en Linux");
        assert_eq!(es(HEADLESS), "Chrome en Linux");
        assert_eq!(es(SAFARI_IPHONE), "Safari en iPhone");
        assert_eq!(es(CHROME_IPHONE), "Chrome en iPhone");
        assert_eq!(es(FIREFOX_WINDOWS), "Firefox en Windows");
        assert_eq!(es(EDGE_WINDOWS), "Edge en Windows");
        assert_eq!(es(SAMSUNG), "Samsung Internet en Android");
        assert_eq!(es(SAFARI_MAC), "Safari en macOS");
        assert_eq!(es("curl/8.5.0"), "Navegador desconocido");
        assert_eq!(device(&pages, Locale::Es, None), "Navegador desconocido");
        assert_eq!(
            device(&pages, Locale::En, Some(SAFARI_IPHONE)),
            "Safari on iPhone"
        );
        assert_eq!(device(&pages, Locale::En, None), "Unknown browser");
    }

    #[test]
    fn times_are_local_to_the_configured_zone() {
        let santiago = LocalZone::default();
        assert_eq!(santiago.name(), "America/Santiago");
        // 2026-12-05 08:19 UTC is 05:19 in Santiago (summer time, UTC-3)…
        assert_eq!(santiago.format(1_796_458_740), "2026-12-05 05:19");
        // …and 2026-07-01 12:00 UTC is 08:00 (winter, UTC-4).
        assert_eq!(santiago.format(1_782_907_200), "2026-07-01 08:00");
        let easter = LocalZone::named("Pacific/Easter").unwrap();
        assert_eq!(easter.format(1_796_458_740), "2026-12-05 03:19");
        assert_eq!(
            LocalZone::named("UTC").unwrap().format(0),
            "1970-01-01 00:00"
        );
        assert!(LocalZone::named("Chile/Nowhere").is_err());
        assert_eq!(santiago.format(i64::MAX), "");
    }
}
