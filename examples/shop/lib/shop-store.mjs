/**
 * The shop's state, in memory: a catalogue with stock, carts, orders and coupons. Stock is reserved
 * at checkout (a conflict when another checkout took the last units first) and released when the
 * payment is declined.
 */
import { randomUUID } from 'node:crypto';

const CATALOGUE = [
  { id: 1, name: 'Espresso beans 1 kg', price: 24.5, stock: 400, category: 'coffee' },
  { id: 2, name: 'Pour-over kettle', price: 49.0, stock: 150, category: 'equipment' },
  { id: 3, name: 'Ceramic mug', price: 14.0, stock: 800, category: 'tableware' },
  { id: 4, name: 'Limited edition grinder', price: 199.0, stock: 5, category: 'equipment' },
  { id: 5, name: 'Paper filters (100)', price: 6.9, stock: 2000, category: 'coffee' },
  { id: 6, name: 'Milk frother', price: 35.0, stock: 120, category: 'equipment' },
];

/** The product of the flash sales: so few units that concurrent checkouts conflict. */
export const LIMITED_PRODUCT_ID = 4;

const COUPONS = { WELCOME10: { percent: 10 }, COFFEE5: { percent: 5 } };

/** A checkout wanted more units than are left (HTTP 409). */
export class StockConflictError extends Error {
  constructor(product, wanted) {
    super(`only ${product.stock} of "${product.name}" left, ${wanted} wanted`);
    this.name = 'StockConflictError';
    this.statusCode = 409;
  }
}

/** A request named something that does not exist (HTTP 404). */
export class NotFoundError extends Error {
  constructor(what) {
    super(`${what} not found`);
    this.name = 'NotFoundError';
    this.statusCode = 404;
  }
}

export class ShopStore {
  constructor() {
    this.products = new Map(CATALOGUE.map((p) => [p.id, { ...p }]));
    /** Units ever put on the shelf and ever sold, per product: the stock invariant. */
    this.shelved = new Map(CATALOGUE.map((p) => [p.id, p.stock]));
    this.sold = new Map(CATALOGUE.map((p) => [p.id, 0]));
    this.carts = new Map();
    this.orders = new Map();
  }

  listProducts() {
    return [...this.products.values()];
  }

  product(id) {
    const p = this.products.get(Number(id));
    if (!p) throw new NotFoundError(`product ${id}`);
    return p;
  }

  createCart() {
    const cart = { id: randomUUID(), items: [], createdMs: Date.now() };
    this.carts.set(cart.id, cart);
    return cart;
  }

  cart(id) {
    const cart = this.carts.get(id);
    if (!cart) throw new NotFoundError(`cart ${id}`);
    return cart;
  }

  addItem(cartId, productId, quantity) {
    const cart = this.cart(cartId);
    const product = this.product(productId);
    const line = cart.items.find((i) => i.productId === product.id);
    if (line) line.quantity += quantity;
    else cart.items.push({ productId: product.id, name: product.name, price: product.price, quantity });
    return cart;
  }

  /** Total of a cart after the coupon, in the shop's currency. */
  total(cart, couponCode) {
    const subtotal = cart.items.reduce((sum, i) => sum + i.price * i.quantity, 0);
    if (!couponCode) return round(subtotal);
    // The bug the demo's error tracker finds: an unknown or expired code is not checked, so
    // `coupon` is undefined and reading its percent throws a TypeError (HTTP 500).
    const coupon = COUPONS[couponCode];
    return round((subtotal * (100 - coupon.percent)) / 100);
  }

  /** Takes the cart's units off the shelf, all or none; throws StockConflictError. */
  reserve(cart) {
    for (const item of cart.items) {
      const product = this.product(item.productId);
      if (product.stock < item.quantity) throw new StockConflictError(product, item.quantity);
    }
    for (const item of cart.items) {
      this.product(item.productId).stock -= item.quantity;
      this.sold.set(item.productId, this.sold.get(item.productId) + item.quantity);
    }
  }

  /** Puts a cart's reserved units back (payment declined). */
  release(cart) {
    for (const item of cart.items) {
      this.product(item.productId).stock += item.quantity;
      this.sold.set(item.productId, this.sold.get(item.productId) - item.quantity);
    }
  }

  /** Tops every product up to its catalogue stock (the warehouse delivery). */
  restock() {
    for (const original of CATALOGUE) {
      const product = this.product(original.id);
      const added = Math.max(0, original.stock - product.stock);
      product.stock += added;
      this.shelved.set(original.id, this.shelved.get(original.id) + added);
    }
  }

  createOrder(cart, total, status) {
    const order = { id: randomUUID(), cartId: cart.id, items: cart.items, total, status, createdMs: Date.now() };
    this.orders.set(order.id, order);
    this.carts.delete(cart.id);
    return order;
  }

  order(id) {
    const order = this.orders.get(id);
    if (!order) throw new NotFoundError(`order ${id}`);
    return order;
  }

  /** Products whose units were sold more often than they were shelved (double bookings). */
  overbooked() {
    return this.listProducts().filter((p) => this.sold.get(p.id) + p.stock !== this.shelved.get(p.id) || p.stock < 0);
  }

  /** Forgets carts and orders older than `maxAgeMs` (bounded memory under endless traffic). */
  expire(maxAgeMs) {
    const cutoff = Date.now() - maxAgeMs;
    for (const [id, cart] of this.carts) if (cart.createdMs < cutoff) this.carts.delete(id);
    for (const [id, order] of this.orders) if (order.createdMs < cutoff) this.orders.delete(id);
  }
}

function round(amount) {
  return Math.round(amount * 100) / 100;
}
