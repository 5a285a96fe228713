-- Step 1: calendar features of each day, known in advance: the month, the day of the year, and
-- the day's place on the yearly cycle as a sine and a cosine, so that 31 December sits beside
-- 1 January (one turn is 365.25 days).

with

days as (
    select
        raw_days.day_id,
        raw_days.date
    from raw_days
),

final as (
    select
        days.day_id,
        cast(month(days.date) as integer) as month,
        cast(dayofyear(days.date) as integer) as day_of_year,
        sin(2 * pi() * (dayofyear(days.date) - 1) / 365.25) as day_of_year_sin,
        cos(2 * pi() * (dayofyear(days.date) - 1) / 365.25) as day_of_year_cos
    from days
)

select * from final
