-- Step 3: rolling means of the measurements over three past windows of days (windows_short,
-- windows_medium, windows_long), each ending with and counting the row's own day. Windows are
-- ranges of dates, not of rows: a day missing from the file shortens the window, never
-- stretches it further back. Near the start of the file a window holds the days there are.
-- Variables: windows_short, windows_medium, windows_long.

with

days as (
    select
        raw_days.day_id,
        raw_days.date,
        raw_days.precipitation,
        raw_days.temp_max,
        raw_days.temp_min,
        raw_days.wind
    from raw_days
),

final as (
    select
        days.day_id,
        avg(days.temp_max) over short_window as temp_max_mean_short,
        avg(days.temp_max) over medium_window as temp_max_mean_medium,
        avg(days.temp_max) over long_window as temp_max_mean_long,
        avg(days.temp_min) over short_window as temp_min_mean_short,
        avg(days.temp_min) over medium_window as temp_min_mean_medium,
        avg(days.temp_min) over long_window as temp_min_mean_long,
        avg(days.precipitation) over short_window as precipitation_mean_short,
        avg(days.precipitation) over medium_window as precipitation_mean_medium,
        avg(days.precipitation) over long_window as precipitation_mean_long,
        avg(days.wind) over short_window as wind_mean_short,
        avg(days.wind) over medium_window as wind_mean_medium,
        avg(days.wind) over long_window as wind_mean_long
    from days
    window
        short_window as (
            order by days.date
            range between to_days(cast(getvariable('windows_short') as integer) - 1) preceding
                and current row
        ),
        medium_window as (
            order by days.date
            range between to_days(cast(getvariable('windows_medium') as integer) - 1) preceding
                and current row
        ),
        long_window as (
            order by days.date
            range between to_days(cast(getvariable('windows_long') as integer) - 1) preceding
                and current row
        )
)

select * from final
