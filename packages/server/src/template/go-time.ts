/**
 * A Go time.Time as templates see it (in UTC): `.Format "2006-01-02 15:04"`, `.Unix`, `.UnixMilli`,
 * `.UTC`, `.IsZero`, and Go's default printing, so notification templates written for Alertmanager
 * (`{{ .StartsAt.Format "Jan 2 15:04" }}`) work unchanged.
 */
import { formatGoTime } from './go-format.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Go layout elements, longest first so that e.g. `January` wins over `Jan` and `2006` over `2`. */
const LAYOUT_RE =
  /January|Jan|Monday|Mon|MST|2006|Z07:00:00|Z07:00|Z0700|Z07|-07:00:00|-07:00|-0700|-07|[.,](?:0+|9+)(?!\d)|_2|01|02|03|04|05|06|15|PM|pm|1|2|3|4|5/g;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Go's zero time (0001-01-01T00:00:00Z) in Unix ms. */
const ZERO_MS = Date.parse('0001-01-01T00:00:00Z');

const UTC_OFFSETS: Record<string, string> = { '-0700': '+0000', '-07:00': '+00:00', '-07': '+00', '-07:00:00': '+00:00:00' };

export class GoTime {
  constructor(readonly ms: number) {}

  /** Go's zero time, which Alertmanager gives firing alerts as EndsAt. */
  static zero(): GoTime {
    return new GoTime(ZERO_MS);
  }

  IsZero(): boolean {
    return this.ms === ZERO_MS;
  }

  UTC(): GoTime {
    return this;
  }

  Unix(): bigint {
    return BigInt(Math.floor(this.ms / 1000));
  }

  UnixMilli(): bigint {
    return BigInt(this.ms);
  }

  String(): string {
    return formatGoTime(new Date(this.ms));
  }

  /** Formats with a Go reference-time layout (`Mon Jan 2 15:04:05 MST 2006`), in UTC. */
  Format(layout: unknown): string {
    const d = new Date(this.ms);
    const hour = d.getUTCHours();
    return String(layout).replace(LAYOUT_RE, (el) => {
      if (/^[.,]0+$/.test(el)) return el[0]! + pad(d.getUTCMilliseconds(), 3).padEnd(el.length - 1, '0').slice(0, el.length - 1);
      if (/^[.,]9+$/.test(el)) {
        const frac = pad(d.getUTCMilliseconds(), 3).padEnd(el.length - 1, '0').slice(0, el.length - 1).replace(/0+$/, '');
        return frac ? el[0]! + frac : '';
      }
      switch (el) {
        case 'January':
          return MONTHS[d.getUTCMonth()]!;
        case 'Jan':
          return MONTHS[d.getUTCMonth()]!.slice(0, 3);
        case 'Monday':
          return DAYS[d.getUTCDay()]!;
        case 'Mon':
          return DAYS[d.getUTCDay()]!.slice(0, 3);
        case 'MST':
          return 'UTC';
        case '2006':
          return String(d.getUTCFullYear());
        case '06':
          return pad(d.getUTCFullYear() % 100);
        case '01':
          return pad(d.getUTCMonth() + 1);
        case '1':
          return String(d.getUTCMonth() + 1);
        case '02':
          return pad(d.getUTCDate());
        case '_2':
          return String(d.getUTCDate()).padStart(2, ' ');
        case '2':
          return String(d.getUTCDate());
        case '15':
          return pad(hour);
        case '03':
          return pad(hour % 12 === 0 ? 12 : hour % 12);
        case '3':
          return String(hour % 12 === 0 ? 12 : hour % 12);
        case '04':
          return pad(d.getUTCMinutes());
        case '4':
          return String(d.getUTCMinutes());
        case '05':
          return pad(d.getUTCSeconds());
        case '5':
          return String(d.getUTCSeconds());
        case 'PM':
          return hour >= 12 ? 'PM' : 'AM';
        case 'pm':
          return hour >= 12 ? 'pm' : 'am';
        default:
          // Zone offsets: UTC prints as Z in the Z forms and as a zero offset otherwise.
          return el.startsWith('Z') ? 'Z' : UTC_OFFSETS[el]!;
      }
    });
  }
}
