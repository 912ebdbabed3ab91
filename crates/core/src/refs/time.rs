//! Times and durations as users type them and as the inspector prints them: relative ages
//! (`30m`, `24h`, `7d`), ISO dates and timestamps, and instants as UTC text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{CoreError, Result};

const US_PER_SEC: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

/// Microseconds since the Unix epoch as `[year, month, day, hour, minute, second,
/// microsecond]` (proleptic Gregorian, UTC; Howard Hinnant's `civil_from_days`).
pub fn civil(us: i64) -> [i64; 7] {
    let (days, rem) = (us.div_euclid(US_PER_DAY), us.rem_euclid(US_PER_DAY));
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let secs = rem / US_PER_SEC;
    [
        y,
        m,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rem % US_PER_SEC,
    ]
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn iso_from_unix(secs: i64) -> String {
    let [y, m, d, h, mi, s, _] = civil(secs.saturating_mul(US_PER_SEC));
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Resolves a time bound given by a user: an ISO date or timestamp (passed on to PostgreSQL,
/// which parses it) or a relative age such as `30m`, `24h`, `7d`, `2w` (counted back from now).
pub fn parse_time(input: &str, what: &str) -> Result<String> {
    let s = input.trim();
    let bad = || {
        CoreError::config(format!(
            "invalid time `{input}` for {what}: use an ISO date or timestamp (2026-01-31, 2026-01-31T12:00:00Z) \
             or a relative age (30m, 24h, 7d, 2w)"
        ))
    };
    if let Some(unit) = s.chars().last().filter(|c| c.is_ascii_alphabetic())
        && s.len() > 1
        && s[..s.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        let n: u64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
        let secs = match unit.to_ascii_lowercase() {
            's' => n,
            'm' => n.saturating_mul(60),
            'h' => n.saturating_mul(3600),
            'd' => n.saturating_mul(86_400),
            'w' => n.saturating_mul(7 * 86_400),
            _ => return Err(bad()),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| CoreError::Internal(e.to_string()))?
            .as_secs();
        return Ok(iso_from_unix(now.saturating_sub(secs) as i64));
    }
    let b = s.as_bytes();
    let date_ok = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    let rest_ok = s[10.min(s.len())..]
        .chars()
        .all(|c| c.is_ascii_digit() || " T:.+-Z".contains(c));
    if date_ok && rest_ok {
        Ok(s.to_string())
    } else {
        Err(bad())
    }
}

/// Parses a duration such as `90s`, `15m`, `24h`, `7d`, `2w` or `1d12h` (a bare number is
/// seconds).
pub fn parse_duration(input: &str) -> Result<Duration> {
    let s = input.trim().to_ascii_lowercase();
    let bad = || {
        CoreError::config(format!(
            "invalid duration `{input}`: use a number with a unit, s m h d or w (for example 24h, 7d, 1d12h)"
        ))
    };
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// A length of time for people, rounded to what matters at its size: `19 s`, `12 min`,
/// `3.5 h`, `4.7 days`. Negative lengths are printed as `0 s`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 120 {
        format!("{s} s")
    } else if s < 2 * 3600 {
        format!("{} min", s / 60)
    } else if s < 2 * 86_400 {
        format!("{:.1} h", s as f64 / 3600.0)
    } else {
        format!("{:.1} days", s as f64 / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(-5), "0 s");
        assert_eq!(human_duration(19), "19 s");
        assert_eq!(human_duration(600), "10 min");
        assert_eq!(human_duration(3 * 3600 + 1800), "3.5 h");
        assert_eq!(human_duration(406_080), "4.7 days");
    }

    #[test]
    fn times() {
        assert_eq!(iso_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_from_unix(1_796_000_000), "2026-11-30T00:53:20Z");
        assert_eq!(iso_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_from_unix(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(parse_time("2026-01-31", "--since").unwrap(), "2026-01-31");
        assert_eq!(
            parse_time(" 2026-01-31T12:00:00+02:00 ", "x").unwrap(),
            "2026-01-31T12:00:00+02:00"
        );
        assert!(parse_time("7d", "x").unwrap().ends_with('Z'));
        assert!(
            parse_time("yesterday", "--since")
                .unwrap_err()
                .to_string()
                .contains("--since")
        );
        assert!(parse_time("2026-01-31; DROP", "x").is_err());
        assert!(parse_time("7y", "x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            Duration::from_secs(129_600)
        );
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(1_209_600)
        );
        assert!(parse_duration("24").is_ok());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("5h3").is_err());
        assert!(parse_duration("").is_err());
    }
}
