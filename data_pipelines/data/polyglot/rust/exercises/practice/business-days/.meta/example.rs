use time::{Date, Weekday};

pub fn add_business_days(start: Date, days: u32) -> Date {
    let mut date = start;
    let mut remaining = days;
    while remaining > 0 {
        date = date.next_day().expect("date out of range");
        if !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            remaining -= 1;
        }
    }
    date
}
