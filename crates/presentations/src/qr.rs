//! QR codes of authorization requests, for a relying party's counter screen or web page: SVG
//! (scales to any size) and PNG.

use qrcode::QrCode;
use qrcode::render::svg;

/// Why a QR code could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("QR code: {0}")]
pub struct QrError(String);

fn code(text: &str) -> Result<QrCode, QrError> {
    QrCode::new(text.as_bytes()).map_err(|e| QrError(e.to_string()))
}

/// The text as an SVG QR code.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build())
}

/// The text as a PNG QR code.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let image = code(text)?
        .render::<image::Luma<u8>>()
        .min_dimensions(256, 256)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| QrError(e.to_string()))?;
    Ok(out.into_inner())
}
