//! Money as MTurk counts it: US dollars with two decimals, held as integer cents
//! so that no sum ever picks up a float rounding error.
//!
//! The fee rules live here because both sides need the same arithmetic: the
//! MTurk-compatible service charges with them, and the pipeline reserves a job's
//! budget with them before it buys anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of US dollars in cents. Negative amounts are allowed for deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Usd(i64);

impl Usd {
    pub const ZERO: Usd = Usd(0);

    pub const fn from_cents(cents: i64) -> Self {
        Usd(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// `self * n`, saturating: counts of assignments are small, but a bad input
    /// must never wrap around into a negative price.
    pub fn times(self, n: i64) -> Usd {
        Usd(self.0.saturating_mul(n))
    }

    /// `pct` percent of this amount, rounded half up to the cent, as MTurk's
    /// pricing FAQ rounds ($0.104 -> $0.10, $0.105 -> $0.11).
    pub fn percent_half_up(self, pct: i64) -> Usd {
        let hundredths = self.0.saturating_mul(pct);
        Usd((hundredths + 50).div_euclid(100))
    }
}

impl std::ops::Add for Usd {
    type Output = Usd;
    fn add(self, rhs: Usd) -> Usd {
        Usd(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Sub for Usd {
    type Output = Usd;
    fn sub(self, rhs: Usd) -> Usd {
        Usd(self.0.saturating_sub(rhs.0))
    }
}

impl std::ops::AddAssign for Usd {
    fn add_assign(&mut self, rhs: Usd) {
        *self = *self + rhs;
    }
}

impl std::ops::SubAssign for Usd {
    fn sub_assign(&mut self, rhs: Usd) {
        *self = *self - rhs;
    }
}

impl std::iter::Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, |a, b| a + b)
    }
}

/// Why a string is not an MTurk `CurrencyAmount` (`^[0-9]+(\.)?[0-9]{0,2}$`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a dollar amount with at most two decimals")]
pub struct BadAmount(pub String);

impl FromStr for Usd {
    type Err = BadAmount;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadAmount(s.to_string());
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty()
            || whole.len() > 12
            || frac.len() > 2
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let dollars: i64 = whole.parse().map_err(|_| bad())?;
        let cents: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        Ok(Usd(dollars * 100 + cents))
    }
}

impl fmt::Display for Usd {
    /// Two decimals, no currency sign: the form MTurk returns (`"0.05"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// MTurk's commission rules (requester.mturk.com/pricing, in force since 2015-07-21).
pub mod fees {
    use super::Usd;

    /// The base commission on rewards and bonuses, in percent.
    pub const BASE_PCT: i64 = 20;
    /// The surcharge on the reward of HITs with 10 or more assignments.
    pub const LARGE_HIT_PCT: i64 = 20;
    /// The surcharge for the Masters qualification.
    pub const MASTERS_PCT: i64 = 5;
    /// The smallest commission charged on a paid assignment or bonus.
    pub const MIN_FEE: Usd = Usd::from_cents(1);
    /// A HIT with this many assignments or more pays the large-HIT surcharge.
    pub const LARGE_HIT_ASSIGNMENTS: i64 = 10;

    /// Commission percent on the reward of one assignment of a HIT.
    pub fn reward_commission_pct(max_assignments: i64, masters: bool) -> i64 {
        let mut pct = BASE_PCT;
        if max_assignments >= LARGE_HIT_ASSIGNMENTS {
            pct += LARGE_HIT_PCT;
        }
        if masters {
            pct += MASTERS_PCT;
        }
        pct
    }

    /// The commission on an amount: `pct` percent rounded half up, at least one
    /// cent. A zero amount carries no fee (nothing is paid, nothing is charged).
    pub fn commission(amount: Usd, pct: i64) -> Usd {
        if amount.cents() <= 0 {
            return Usd::ZERO;
        }
        amount.percent_half_up(pct).max(MIN_FEE)
    }

    /// What approving one assignment costs the requester: reward plus commission.
    pub fn assignment_cost(reward: Usd, max_assignments: i64, masters: bool) -> Usd {
        reward + commission(reward, reward_commission_pct(max_assignments, masters))
    }

    /// What a bonus costs the requester: the bonus plus the base commission
    /// (the large-HIT surcharge does not apply to bonuses).
    pub fn bonus_cost(bonus: Usd) -> Usd {
        bonus + commission(bonus, BASE_PCT)
    }
}

#[cfg(test)]
mod tests {
    use super::fees::*;
    use super::*;

    fn usd(s: &str) -> Usd {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_currency_amount_pattern() {
        assert_eq!(usd("0.05").cents(), 5);
        assert_eq!(usd("5").cents(), 500);
        assert_eq!(usd("5.").cents(), 500);
        assert_eq!(usd("101.42").cents(), 10142);
        assert_eq!(usd("0.5").cents(), 50);
        for bad in ["", ".5", "0.055", "-1", "1,00", "$1", "1e3", " 1", "1.2.3"] {
            assert!(bad.parse::<Usd>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(usd("5").to_string(), "5.00");
        assert_eq!(Usd::from_cents(1_000_000).to_string(), "10000.00");
        assert_eq!(Usd::from_cents(-7).to_string(), "-0.07");
    }

    #[test]
    fn rounds_half_up_like_the_pricing_faq() {
        // $0.52 * 20 % = $0.104 -> $0.10; $0.525 cannot exist, so check via pct.
        assert_eq!(usd("0.52").percent_half_up(20), usd("0.10"));
        // $0.35 * 30 % = $0.105 -> $0.11
        assert_eq!(usd("0.35").percent_half_up(30), usd("0.11"));
    }

    #[test]
    fn the_blog_task_costs_six_cents_an_assignment() {
        assert_eq!(assignment_cost(usd("0.05"), 2, false), usd("0.06"));
        // 150 HITs x 2 assignments
        assert_eq!(assignment_cost(usd("0.05"), 2, false).times(300), usd("18.00"));
    }

    #[test]
    fn minimum_fee_is_one_cent_and_zero_reward_is_free() {
        assert_eq!(commission(usd("0.01"), 20), usd("0.01"));
        assert_eq!(commission(Usd::ZERO, 20), Usd::ZERO);
    }

    #[test]
    fn large_hits_and_masters_pay_surcharges() {
        assert_eq!(assignment_cost(usd("1.00"), 9, false), usd("1.20"));
        assert_eq!(assignment_cost(usd("1.00"), 10, false), usd("1.40"));
        assert_eq!(assignment_cost(usd("1.00"), 10, true), usd("1.45"));
        // bonuses never pay the large-HIT surcharge
        assert_eq!(bonus_cost(usd("5")), usd("6.00"));
        assert_eq!(bonus_cost(usd("0.02")), usd("0.03"));
    }

    #[test]
    fn serializes_as_a_string() {
        assert_eq!(serde_json::to_string(&usd("0.05")).unwrap(), "\"0.05\"");
        let back: Usd = serde_json::from_str("\"10000.00\"").unwrap();
        assert_eq!(back, Usd::from_cents(1_000_000));
    }
}
