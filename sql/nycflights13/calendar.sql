-- Step 2: calendar and schedule features, known long before the prediction moment.
-- Holidays are data (raw_holidays, observed US federal holidays), not code. Date features are
-- computed once per local date, then given to the flights of that date.

with

flights as (
    select
        flights_timed.flight_id,
        flights_timed.local_date,
        flights_timed.sched_dep_time,
        flights_timed.sched_arr_time
    from flights_timed
    where flights_timed.in_block
),

holidays as (
    select raw_holidays.date as holiday from raw_holidays
),

dates as (
    select distinct flights.local_date from flights
),

next_holiday as (
    select
        dates.local_date,
        holidays.holiday
    from dates
    asof left join holidays on dates.local_date <= holidays.holiday
),

previous_holiday as (
    select
        dates.local_date,
        holidays.holiday
    from dates
    asof left join holidays on dates.local_date >= holidays.holiday
),

by_date as (
    select
        dates.local_date,
        isodow(dates.local_date) as day_of_week,
        dayofyear(dates.local_date) as day_of_year,
        coalesce(previous_holiday.holiday = dates.local_date, false) as is_holiday,
        least(
            date_diff('day', previous_holiday.holiday, dates.local_date),
            date_diff('day', dates.local_date, next_holiday.holiday)
        ) as days_to_holiday
    from dates
    left join next_holiday on dates.local_date = next_holiday.local_date
    left join previous_holiday on dates.local_date = previous_holiday.local_date
),

final as (
    select
        flights.flight_id,
        by_date.day_of_week,
        by_date.day_of_year,
        flights.sched_dep_time // 100 as sched_dep_hour,
        (flights.sched_dep_time // 100) * 60 + flights.sched_dep_time % 100
            as sched_dep_minute_of_day,
        (flights.sched_arr_time // 100) * 60 + flights.sched_arr_time % 100
            as sched_arr_minute_of_day,
        by_date.is_holiday,
        by_date.days_to_holiday
    from flights
    inner join by_date on flights.local_date = by_date.local_date
)

select * from final
