//! Llavero's identity provider: the civil registry anchor, citizens' accounts and the OpenID
//! Connect provider.
