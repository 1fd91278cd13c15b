//! When a failed delivery is tried again.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The delays between attempts: the first attempt is made at once, attempt `n + 1` follows `self.0[n - 1]`
/// after attempt `n` failed, and after `len + 1` failed attempts the message is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

/// Why a retry schedule was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleParseError {
    #[error("the retry schedule is empty: give delays such as \"5s,5m,30m,2h\"")]
    Empty,
    #[error(
        "retry schedule item {position} ({item:?}) is not a delay: write a whole number followed by \
         s, m or h (or a plain number of seconds), e.g. \"5s,5m,30m,2h\""
    )]
    InvalidItem { position: usize, item: String },
    #[error("retry schedule item {position} ({item:?}) is too long a delay")]
    TooLarge { position: usize, item: String },
}

impl Default for RetrySchedule {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours.
    fn default() -> Self {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        Self(
            [
                5,
                5 * MINUTE,
                30 * MINUTE,
                2 * HOUR,
                5 * HOUR,
                10 * HOUR,
                10 * HOUR,
            ]
            .into_iter()
            .map(Duration::from_secs)
            .collect(),
        )
    }
}

impl RetrySchedule {
    pub fn new(delays: Vec<Duration>) -> Self {
        Self(delays)
    }

    /// Reads a comma-separated list of delays, each a whole number with the unit `s`, `m` or `h`, or a plain
    /// number of seconds: `"5s,5m,30m,2h,5h,10h,10h"`. Spaces around the items are ignored.
    pub fn parse(text: &str) -> Result<Self, ScheduleParseError> {
        if text.trim().is_empty() {
            return Err(ScheduleParseError::Empty);
        }
        text.split(',')
            .enumerate()
            .map(|(index, item)| parse_delay(item.trim(), index + 1))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// The delay before the next attempt once `attempts` attempts have failed: zero for the first attempt
    /// (`attempts == 0`), then the schedule's delays in turn, and None once they are used up.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        match attempts {
            0 => Some(Duration::ZERO),
            n => self.0.get(usize::try_from(n - 1).ok()?).copied(),
        }
    }

    /// How many attempts a message gets in all: the first and one per delay.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.0.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    pub fn delays(&self) -> &[Duration] {
        &self.0
    }
}

fn parse_delay(item: &str, position: usize) -> Result<Duration, ScheduleParseError> {
    let invalid = || ScheduleParseError::InvalidItem {
        position,
        item: item.to_owned(),
    };
    let (digits, unit) = match item.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => item.split_at(at),
        None => (item, ""),
    };
    let multiplier: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(invalid()),
    };
    if digits.is_empty() {
        return Err(invalid());
    }
    let too_large = || ScheduleParseError::TooLarge {
        position,
        item: item.to_owned(),
    };
    let count: u64 = digits.parse().map_err(|_| too_large())?;
    let seconds = count.checked_mul(multiplier).ok_or_else(too_large)?;
    Ok(Duration::from_secs(seconds))
}

impl FromStr for RetrySchedule {
    type Err = ScheduleParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for RetrySchedule {
    /// The form [`RetrySchedule::parse`] reads, in the largest exact unit: `5s,5m,30m,2h,5h,10h,10h`.
    /// Fractions of a second are dropped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, delay) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            let seconds = delay.as_secs();
            if seconds != 0 && seconds % 3600 == 0 {
                write!(f, "{}h", seconds / 3600)?;
            } else if seconds != 0 && seconds % 60 == 0 {
                write!(f, "{}m", seconds / 60)?;
            } else {
                write!(f, "{seconds}s")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn default_schedule() {
        let schedule = RetrySchedule::default();
        assert_eq!(
            schedule.delays(),
            [
                secs(5),
                secs(300),
                secs(1800),
                secs(7200),
                secs(18_000),
                secs(36_000),
                secs(36_000)
            ]
        );
        assert_eq!(schedule.to_string(), "5s,5m,30m,2h,5h,10h,10h");
        assert_eq!(
            RetrySchedule::parse("5s,5m,30m,2h,5h,10h,10h").unwrap(),
            schedule
        );
        assert_eq!(schedule.max_attempts(), 8);
    }

    #[test]
    fn delay_after_walks_the_schedule_then_stops() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.delay_after(0), Some(Duration::ZERO));
        assert_eq!(schedule.delay_after(1), Some(secs(5)));
        assert_eq!(schedule.delay_after(2), Some(secs(300)));
        assert_eq!(schedule.delay_after(3), Some(secs(1800)));
        assert_eq!(schedule.delay_after(6), Some(secs(36_000)));
        assert_eq!(schedule.delay_after(7), Some(secs(36_000)));
        assert_eq!(schedule.delay_after(8), None);
        assert_eq!(schedule.delay_after(u32::MAX), None);

        let none = RetrySchedule::new(Vec::new());
        assert_eq!(none.delay_after(0), Some(Duration::ZERO));
        assert_eq!(none.delay_after(1), None);
        assert_eq!(none.max_attempts(), 1);
    }

    #[test]
    fn parse_reads_units_plain_seconds_and_spaces() {
        assert_eq!(
            RetrySchedule::parse(" 1s , 2m,3h ,45, 0s")
                .unwrap()
                .delays(),
            [secs(1), secs(120), secs(10_800), secs(45), secs(0)]
        );
        assert_eq!(
            "10".parse::<RetrySchedule>().unwrap(),
            RetrySchedule(vec![secs(10)])
        );
        assert_eq!(
            RetrySchedule(vec![secs(90), secs(0), Duration::from_millis(1500)]).to_string(),
            "90s,0s,1s"
        );
    }

    #[test]
    fn parse_explains_what_is_wrong() {
        assert_eq!(RetrySchedule::parse(""), Err(ScheduleParseError::Empty));
        assert_eq!(RetrySchedule::parse("  "), Err(ScheduleParseError::Empty));
        for (text, position, item) in [
            ("5s,5x", 2, "5x"),
            ("5s,,5m", 2, ""),
            ("5s,", 2, ""),
            ("m", 1, "m"),
            ("-5s", 1, "-5s"),
            ("1.5h", 1, "1.5h"),
            ("5 m", 1, "5 m"),
            ("5ms", 1, "5ms"),
            ("5d", 1, "5d"),
        ] {
            let error = RetrySchedule::parse(text).unwrap_err();
            assert_eq!(
                error,
                ScheduleParseError::InvalidItem {
                    position,
                    item: item.to_owned()
                },
                "{text}"
            );
            let message = error.to_string();
            assert!(
                message.contains(&format!("item {position}")) && message.contains("e.g."),
                "{message}"
            );
        }
        assert!(matches!(
            RetrySchedule::parse("99999999999999999999s"),
            Err(ScheduleParseError::TooLarge { position: 1, .. })
        ));
        assert!(matches!(
            RetrySchedule::parse("1s,18446744073709551615h"),
            Err(ScheduleParseError::TooLarge { position: 2, .. })
        ));
    }
}
