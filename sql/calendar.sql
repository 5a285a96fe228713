-- Step 2: calendar and schedule features, known long before the prediction moment.
-- Holidays are data (ref_holidays, observed US federal holidays), not code.

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
    select ref_holidays.date as holiday from ref_holidays
),

next_holiday as (
    select
        flights.flight_id,
        holidays.holiday
    from flights
    asof left join holidays on flights.local_date <= holidays.holiday
),

previous_holiday as (
    select
        flights.flight_id,
        holidays.holiday
    from flights
    asof left join holidays on flights.local_date >= holidays.holiday
),

final as (
    select
        flights.flight_id,
        isodow(flights.local_date) as day_of_week,
        dayofyear(flights.local_date) as day_of_year,
        flights.sched_dep_time // 100 as sched_dep_hour,
        (flights.sched_dep_time // 100) * 60 + flights.sched_dep_time % 100
            as sched_dep_minute_of_day,
        (flights.sched_arr_time // 100) * 60 + flights.sched_arr_time % 100
            as sched_arr_minute_of_day,
        coalesce(previous_holiday.holiday = flights.local_date, false) as is_holiday,
        least(
            date_diff('day', previous_holiday.holiday, flights.local_date),
            date_diff('day', flights.local_date, next_holiday.holiday)
        ) as days_to_holiday
    from flights
    left join next_holiday on flights.flight_id = next_holiday.flight_id
    left join previous_holiday on flights.flight_id = previous_holiday.flight_id
)

select * from final
