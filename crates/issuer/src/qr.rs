//! QR codes of credential offers, for an agency to show on a counter screen or print on a
//! letter: SVG (scales to any size) and PNG.

use qrcode::QrCode;
use qrcode::render::svg;

/// Why a QR code could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("QR code: {0}")]
pub struct QrError(String);

/// The text as an SVG QR code (error correction M, quiet zone included).
pub fn svg(text: &str) -> Result<String, QrError> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| QrError(e.to_string()))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build())
}

/// The text as a PNG QR code.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| QrError(e.to_string()))?;
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(256, 256)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| QrError(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_encode_the_offer() {
        let uri = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fllavero.cl%2Fregistro-civil%2Foffers%2Fabc";
        let drawn = svg(uri).unwrap();
        assert!(drawn.starts_with("<?xml") && drawn.contains("<svg"));
        let png = png(uri).unwrap();
        assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]));
        let decoded = image::load_from_memory(&png).unwrap().to_luma8();
        assert!(decoded.width() >= 256);
    }
}
