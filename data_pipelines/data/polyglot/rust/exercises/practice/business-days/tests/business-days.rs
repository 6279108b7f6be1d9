use business_days::add_business_days;
use time::{Date, Month};

fn date(year: i32, month: Month, day: u8) -> Date {
    Date::from_calendar_date(year, month, day).unwrap()
}

#[test]
fn friday_plus_one_is_monday() {
    assert_eq!(
        add_business_days(date(2024, Month::March, 1), 1),
        date(2024, Month::March, 4)
    );
}

#[test]
#[ignore]
fn zero_days_keeps_a_weekday() {
    assert_eq!(
        add_business_days(date(2024, Month::March, 6), 0),
        date(2024, Month::March, 6)
    );
}

#[test]
#[ignore]
fn zero_days_keeps_a_weekend_day() {
    assert_eq!(
        add_business_days(date(2024, Month::March, 9), 0),
        date(2024, Month::March, 9)
    );
}

#[test]
#[ignore]
fn within_one_week() {
    assert_eq!(
        add_business_days(date(2024, Month::March, 4), 3),
        date(2024, Month::March, 7)
    );
}

#[test]
#[ignore]
fn saturday_plus_one_is_monday() {
    assert_eq!(
        add_business_days(date(2024, Month::March, 2), 1),
        date(2024, Month::March, 4)
    );
}

#[test]
#[ignore]
fn two_full_weeks() {
    assert_eq!(
        add_business_days(date(2024, Month::March, 4), 10),
        date(2024, Month::March, 18)
    );
}

#[test]
#[ignore]
fn across_a_leap_day() {
    assert_eq!(
        add_business_days(date(2024, Month::February, 28), 2),
        date(2024, Month::March, 1)
    );
}

#[test]
#[ignore]
fn across_a_year_end() {
    assert_eq!(
        add_business_days(date(2025, Month::December, 31), 3),
        date(2026, Month::January, 5)
    );
}
