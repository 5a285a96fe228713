-- Step 4: the targets, the only columns that read the future: the next day's maximum
-- temperature (the regression target) and its weather class (a multiclass target, not a
-- feature). Found by date: the last day of the file, or a day whose next day is missing, gets
-- nulls, and the engine drops its row.

with

days as (
    select
        raw_days.day_id,
        raw_days.date,
        raw_days.temp_max,
        raw_days.weather
    from raw_days
),

final as (
    select
        days.day_id,
        next_day.temp_max as temp_max_next_day,
        next_day.weather as weather_next_day
    from days
    left join days as next_day on next_day.date = days.date + 1
)

select * from final
