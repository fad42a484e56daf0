//! NUL characters. PostgreSQL's text columns cannot hold U+0000, and sshd never writes it (it
//! escapes control characters in what it logs), so a NUL can only come from a corrupt log or a
//! hand-made event. Rather than fail a whole batch on one, every backend stores it as the four
//! characters `\x00`, the escape knockmap already uses for bytes that are not text.

use std::borrow::Cow;

use crate::model::NewEvent;

/// `text` with each NUL written as `\x00`.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\\x00"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The events with NULs escaped in every text field; borrowed when there are none.
pub fn escaped_events(events: &[NewEvent]) -> Cow<'_, [NewEvent]> {
    if !events.iter().any(has_nul) {
        return Cow::Borrowed(events);
    }
    let fix = |field: &mut Option<String>| {
        if let Some(text) = field.as_mut()
            && text.contains('\0')
        {
            *text = escaped(text).into_owned();
        }
    };
    let mut owned = events.to_vec();
    for new in &mut owned {
        new.sensor = escaped(&new.sensor).into_owned();
        let e = &mut new.event;
        for field in [&mut e.host, &mut e.rhost, &mut e.user, &mut e.method] {
            fix(field);
        }
        let g = &mut new.geo;
        for field in [&mut g.country_code, &mut g.country, &mut g.city, &mut g.org] {
            fix(field);
        }
    }
    Cow::Owned(owned)
}

fn has_nul(new: &NewEvent) -> bool {
    let e = &new.event;
    let g = &new.geo;
    new.sensor.contains('\0')
        || [
            &e.host,
            &e.rhost,
            &e.user,
            &e.method,
            &g.country_code,
            &g.country,
            &g.city,
            &g.org,
        ]
        .into_iter()
        .flatten()
        .any(|text| text.contains('\0'))
}
